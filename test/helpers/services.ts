/**
 * Tests that need a service (Temporal, PostgreSQL, RabbitMQ...) skip with a reason when it is not
 * configured, and fail instead when BULWARK_REQUIRE_SERVICES=1 (CI sets it): a missing service must
 * never turn into a green run that tested nothing.
 */
export function requireService(ctx: Mocha.Context, name: string, value: string | undefined): string {
  if (value) return value;
  if (process.env.BULWARK_REQUIRE_SERVICES === '1') throw new Error(`${name} is required (BULWARK_REQUIRE_SERVICES=1) but not configured`);
  ctx.skip();
  throw new Error('unreachable');
}

export const temporalAddress = (): string | undefined => process.env.TEMPORAL_ADDRESS;
