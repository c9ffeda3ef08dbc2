import { expect } from 'chai';
import { createLogger } from '../../src/common/logging.js';
import { InProcessTransport } from '../../src/rpc/in-process.js';
import { rpcProtectionService, serveProtection } from '../../src/rpc/protection-rpc.js';
import type { CallOptions, RpcTransport } from '../../src/rpc/port.js';
import { SERVICE_METHODS } from '../../src/protection-manager/service-methods.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';

const ctx = { projectId: 'p', admin: false };

/** The RPC server derived from the method table: what it refuses and how it says so. */
describe('protection service over RPC', () => {
  const logger = createLogger(() => undefined, 'error');
  const transport = new InProcessTransport(logger);
  before(async () => {
    await serveProtection(transport, 'q-rpc-test', {} as ProtectionService, logger);
  });
  after(() => transport.close());

  it('names the queue and the methods it knows when asked for one it does not', async () => {
    const err = await transport.call('q-rpc-test', 'list_plannz', { ctx, args: [] }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; details: Record<string, unknown> },
    );
    expect(err?.code).to.equal('BWK_ERR_RPC_METHOD_UNKNOWN');
    expect(err!.message)
      .to.contain('q-rpc-test')
      .and.to.contain('list_plans')
      .and.not.to.match(/\{(queue|known)\}/);
    expect(err!.details.queue).to.equal('q-rpc-test');
    const known = String(err!.details.known).split(', ');
    expect(known).to.include.members(['execute_operation', 'list_checkpoints', 'show_operation']);
    expect(new Set(known).size).to.equal(new Set(Object.values(SERVICE_METHODS).map((m) => m.rpc)).size);
  });

  it('treats a member request without the scoped flag (an older api build) as scoped: scopes fail closed', async () => {
    const seen: unknown[] = [];
    const service = { listPlans: async (c: unknown) => (seen.push(c), []) } as unknown as ProtectionService;
    await serveProtection(transport, 'q-rpc-scoped', service, logger);
    await transport.call('q-rpc-scoped', 'list_plans', { ctx, args: [{}] });
    await transport.call('q-rpc-scoped', 'list_plans', { ctx: { projectId: 'p', admin: true }, args: [{}] });
    await transport.call('q-rpc-scoped', 'list_plans', { ctx: { projectId: 'p', admin: false, scoped: false }, args: [{}] });
    expect(seen.map((c) => (c as { scoped?: boolean }).scoped ?? false)).to.deep.equal([true, false, false]);
  });

  it('calls bank check and gc with the long timeout, delivered at most once; every other method with the usual one', async () => {
    const sent: Array<{ method: string; options: CallOptions | undefined }> = [];
    const recording = {
      call: async (_queue: string, method: string, _params: unknown, options?: CallOptions) => {
        sent.push({ method, options });
        return {};
      },
    } as unknown as RpcTransport;
    const service = rpcProtectionService(recording, 'q', 1_000, 9_000_000);
    await service.checkBank(ctx, { read_data: true });
    await service.gcBank(ctx, {});
    await service.listPlans(ctx, {});
    await service.startVerify(ctx, { checkpoint_id: 'c' });
    expect(sent.map((c) => [c.method, c.options?.timeoutMs, c.options?.atMostOnce ?? false])).to.deep.equal([
      ['check_bank', 9_000_000, true],
      ['gc_bank', 9_000_000, true],
      ['list_plans', 1_000, false],
      ['execute_operation', 1_000, false],
    ]);
    // A fresh key per call: a redelivery to the same server (a lost ack) shares the run, two calls never do.
    expect(sent[0]!.options?.idempotencyKey).to.be.a('string').and.not.equal(sent[1]!.options?.idempotencyKey);
  });

  it('refuses an execute_operation of a kind it does not start', async () => {
    const err = await transport.call('q-rpc-test', 'execute_operation', { ctx, args: ['copy', {}] }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).to.equal('BWK_ERR_INVALID_INPUT');
    expect(err!.message).to.contain('protect, restore or verify').and.to.contain('"copy"');
  });
});
