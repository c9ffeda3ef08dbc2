import { expect } from 'chai';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/common/logging.js';
import { AmqpTransport } from '../../src/rpc/amqp.js';
import { createTransport } from '../../src/rpc/factory.js';
import { InProcessTransport } from '../../src/rpc/in-process.js';
import { amqpUrl, requireService } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { rejectsWith } from './bank.contract.js';
import { describeRpcContract } from './rpc.contract.js';

const uniqueQueue = (label: string): string => `test-rpc-${label}-${randomUUID()}`;

describeRpcContract('InProcessTransport', async () => {
  const transport = new InProcessTransport();
  return { server: transport, client: transport, queue: uniqueQueue, cleanup: () => transport.close() };
});

describeRpcContract(
  'AmqpTransport',
  async () => {
    // Two connections, as a caller process and a server process would have.
    const server = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-server' });
    const client = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-client' });
    const queues: string[] = [];
    return {
      server,
      client,
      queue: (label) => {
        const q = uniqueQueue(label);
        queues.push(q);
        return q;
      },
      async cleanup() {
        await client.close();
        await server.close();
        // Request queues are durable: remove this test's ones from the shared broker.
        const conn = await amqp.connect(amqpUrl());
        try {
          const ch = await conn.createChannel();
          for (const q of queues) await ch.deleteQueue(q);
        } finally {
          await conn.close();
        }
      },
    };
  },
  {
    requires: (ctx) => {
      requireService(ctx, 'RabbitMQ', amqpUrl());
    },
  },
);

describe('createTransport', () => {
  before(function () {
    requireService(this, 'RabbitMQ', amqpUrl());
  });

  it('builds in-process and AMQP transports and refuses unknown types or bad URLs', async () => {
    const local = await createTransport({ type: 'in-process' }, silentLogger);
    expect(local).to.be.instanceOf(InProcessTransport);
    await local.close();
    const remote = await createTransport({ type: 'amqp', url: amqpUrl() }, silentLogger);
    expect(remote).to.be.instanceOf(AmqpTransport);
    await remote.close();
    const err = await rejectsWith(createTransport({ type: 'zeromq' } as never, silentLogger), 'BWK_ERR_INVALID_INPUT');
    expect(err.message).to.contain('zeromq').and.to.contain('in-process, amqp');
    await rejectsWith(createTransport({ type: 'amqp', url: 'http://x' }, silentLogger), 'BWK_ERR_INVALID_INPUT');
  });
});

// AMQP only: an in-process publisher and its subscribers are one transport, which a close stops as a whole.
describe('AmqpTransport events', () => {
  before(function () {
    requireService(this, 'RabbitMQ', amqpUrl());
  });

  it('delivers an event published right before the publisher closes (a process stopping after an operation ended)', async () => {
    const publisher = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-publisher' });
    const subscriber = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-subscriber' });
    try {
      const got: unknown[] = [];
      const tag = randomUUID().slice(0, 8);
      await subscriber.subscribe(`${tag}.checkpoint.*`, (_key, e) => got.push(e));
      await publisher.publish(`${tag}.checkpoint.error`, { id: 'last' });
      await publisher.close();
      await waitFor('the last event', () => (got.length === 1 ? true : undefined), 20_000, 10);
      expect(got).to.deep.equal([{ id: 'last' }]);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });

  it('keeps two deployments apart on one broker when their events exchanges differ (rpc.events_exchange)', async () => {
    const tag = randomUUID().slice(0, 8);
    const ours = { eventsExchange: `bulwark-test-${tag}.events` };
    const publisher = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-publisher', ...ours });
    const sameDeployment = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-same', ...ours });
    const otherDeployment = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-other' });
    try {
      const same: unknown[] = [];
      const other: unknown[] = [];
      await sameDeployment.subscribe(`${tag}.#`, (_key, e) => same.push(e));
      await otherDeployment.subscribe(`${tag}.#`, (_key, e) => other.push(e));
      await publisher.publish(`${tag}.checkpoint.available`, { id: 'first' });
      await publisher.publish(`${tag}.checkpoint.available`, { id: 'second' });
      await waitFor('both events in the same deployment', () => (same.length === 2 ? true : undefined), 20_000, 10);
      // An event published on the default exchange afterwards reaches the other deployment: it was listening all along.
      await otherDeployment.publish(`${tag}.checkpoint.error`, { id: 'theirs' });
      await waitFor("the other deployment's own event", () => (other.length === 1 ? true : undefined), 20_000, 10);
      expect(same).to.deep.equal([{ id: 'first' }, { id: 'second' }]);
      expect(other).to.deep.equal([{ id: 'theirs' }]);
    } finally {
      await publisher.close();
      await sameDeployment.close();
      await otherDeployment.close();
      // The exchange is durable: remove this test's from the shared broker.
      const conn = await amqp.connect(amqpUrl());
      try {
        await (await conn.createChannel()).deleteExchange(ours.eventsExchange);
      } finally {
        await conn.close();
      }
    }
  });
});
