/**
 * The yardstick of `npm run bench:engine`: a bare workflow that starts N activities at once and
 * waits for them all, with nothing of Bulwark in it. The worker's activity slots bound how many run
 * at a time, as they bound Bulwark's hook tasks. Bundled by the Temporal worker (workflow sandbox:
 * only @temporalio/workflow may be imported).
 */
import { proxyActivities } from '@temporalio/workflow';

export interface FanOutActivities {
  nothing(i: number): Promise<number>;
}

const { nothing } = proxyActivities<FanOutActivities>({ startToCloseTimeout: '1 minute' });

export async function fanOut(count: number): Promise<number> {
  const done = await Promise.all(Array.from({ length: count }, (_, i) => nothing(i)));
  return done.length;
}
