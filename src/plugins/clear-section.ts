import type { BankSection } from './api.js';

/**
 * Removes every object of a resource's section: what a checkpoint delete does, and what a failed
 * protect's revert does for plugins whose section holds nothing but what that protect wrote.
 */
export async function clearSection(bank: BankSection): Promise<void> {
  for (const name of await bank.list()) await bank.delete(name);
}
