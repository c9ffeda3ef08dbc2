import { bwkError } from '../core/errors.js';
import { SERVICE_METHOD_NAMES, SERVICE_METHODS } from '../protection-manager/service-methods.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { ServiceRegistration } from './service-registration.js';

/**
 * The in-process ProtectionService of `bulwark serve`, refusing new operations (protect, restore,
 * verify) while its protection-service row is disabled: what the distributed protection service does
 * by cancelling its queue consumer. Reads, and operations already running, go on.
 */
export function gatedService(
  service: ProtectionService,
  registration: Pick<ServiceRegistration, 'isEnabled' | 'reason'>,
  host: string,
): ProtectionService {
  const gated = SERVICE_METHOD_NAMES.map((name) => {
    const fn = (service[name] as (...a: unknown[]) => Promise<unknown>).bind(service);
    if (!(SERVICE_METHODS[name] as { operation?: string }).operation) return [name, fn] as const;
    return [
      name,
      (...args: unknown[]) => {
        if (!registration.isEnabled)
          return Promise.reject(bwkError('BWK_ERR_SERVICE_DISABLED', { host, reason: registration.reason ?? 'no reason given' }));
        return fn(...args);
      },
    ] as const;
  });
  return Object.fromEntries(gated) as unknown as ProtectionService;
}
