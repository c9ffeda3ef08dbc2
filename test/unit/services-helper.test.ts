import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { requirePrerequisite, requireService, serviceEndpoint } from '../helpers/services.js';

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class Skipped extends Error {}

/** Stands in for mocha's context: records a skip the way mocha's own skip() ends the hook, by throwing. */
function fakeContext(): { ctx: Mocha.Context; skipped(): boolean } {
  let skipped = false;
  const ctx = {
    skip: () => {
      skipped = true;
      throw new Skipped('skipped');
    },
  } as unknown as Mocha.Context;
  return { ctx, skipped: () => skipped };
}

describe('requireService (test helper)', () => {
  const saved = process.env.BULWARK_REQUIRE_SERVICES;
  let listening: Server;
  let openPort: number;
  let deadPort: number;

  before(async () => {
    listening = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    openPort = (listening.address() as { port: number }).port;
    deadPort = await closedPort();
  });
  after(async () => {
    await new Promise<void>((resolve) => listening.close(() => resolve()));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.BULWARK_REQUIRE_SERVICES;
    else process.env.BULWARK_REQUIRE_SERVICES = saved;
  });

  it('with BULWARK_REQUIRE_SERVICES=1, fails on a closed port naming the service, its address and why', () => {
    process.env.BULWARK_REQUIRE_SERVICES = '1';
    const { ctx, skipped } = fakeContext();
    expect(() => requireService(ctx, 'PostgreSQL', `postgres://postgres@127.0.0.1:${deadPort}/test`)).to.throw(
      Error,
      `PostgreSQL at 127.0.0.1:${deadPort} does not answer: ECONNREFUSED`,
    );
    expect(skipped()).to.equal(false);
  });

  it('without it, skips on a closed port instead', () => {
    delete process.env.BULWARK_REQUIRE_SERVICES;
    const { ctx, skipped } = fakeContext();
    expect(() => requireService(ctx, 'Temporal', `127.0.0.1:${deadPort}`)).to.throw(Skipped);
    expect(skipped()).to.equal(true);
  });

  it('returns the address when something answers there, in either mode', () => {
    for (const mode of ['1', undefined]) {
      if (mode === undefined) delete process.env.BULWARK_REQUIRE_SERVICES;
      else process.env.BULWARK_REQUIRE_SERVICES = mode;
      const { ctx, skipped } = fakeContext();
      expect(requireService(ctx, 'RabbitMQ', `amqp://guest:guest@127.0.0.1:${openPort}`)).to.equal(
        `amqp://guest:guest@127.0.0.1:${openPort}`,
      );
      expect(requireService(ctx, 'Temporal', `127.0.0.1:${openPort}`)).to.equal(`127.0.0.1:${openPort}`);
      expect(skipped()).to.equal(false);
    }
  });

  it('an address that is not configured fails or skips as before, naming the service', () => {
    process.env.BULWARK_REQUIRE_SERVICES = '1';
    expect(() => requireService(fakeContext().ctx, 'Temporal', undefined)).to.throw(Error, 'Temporal is required but not configured');
    delete process.env.BULWARK_REQUIRE_SERVICES;
    const { ctx, skipped } = fakeContext();
    expect(() => requireService(ctx, 'Temporal', '')).to.throw(Skipped);
    expect(skipped()).to.equal(true);
  });

  it('requirePrerequisite follows the same rule for what is not a network service', () => {
    process.env.BULWARK_REQUIRE_SERVICES = '1';
    expect(requirePrerequisite(fakeContext().ctx, 'rabbitmq-server', '/usr/lib/rabbitmq/bin')).to.equal('/usr/lib/rabbitmq/bin');
    expect(() => requirePrerequisite(fakeContext().ctx, 'rabbitmq-server', undefined)).to.throw(
      Error,
      'rabbitmq-server is required but not available',
    );
    delete process.env.BULWARK_REQUIRE_SERVICES;
    const { ctx, skipped } = fakeContext();
    expect(() => requirePrerequisite(ctx, 'rabbitmq-server', undefined)).to.throw(Skipped);
    expect(skipped()).to.equal(true);
  });

  it("finds host and port in the test services' URLs and in host:port", () => {
    expect(serviceEndpoint('postgres://postgres@127.0.0.1/test')).to.deep.equal({ host: '127.0.0.1', port: 5432 });
    expect(serviceEndpoint('mysql://root@db.example:3307/test')).to.deep.equal({ host: 'db.example', port: 3307 });
    expect(serviceEndpoint('redis://127.0.0.1')).to.deep.equal({ host: '127.0.0.1', port: 6379 });
    expect(serviceEndpoint('amqp://guest:guest@[::1]')).to.deep.equal({ host: '::1', port: 5672 });
    expect(serviceEndpoint('localhost:7233')).to.deep.equal({ host: 'localhost', port: 7233 });
    expect(serviceEndpoint('[::1]:7233')).to.deep.equal({ host: '::1', port: 7233 });
    expect(() => serviceEndpoint('http:/nowhere')).to.throw('neither a URL nor host:port');
  });
});
