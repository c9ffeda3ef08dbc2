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

/** The machine's services (see the developers' brief); overridable per environment. */
export const pgUrl = (): string => process.env.BULWARK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const mariadbUrl = (): string => process.env.BULWARK_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const redisUrl = (): string => process.env.BULWARK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const amqpUrl = (): string => process.env.BULWARK_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
