/**
 * A private RabbitMQ node for tests that must stop or restart the broker: the shared one at 5672 is never
 * touched. Everything lives in a temp dir (mnesia, logs, config, Erlang cookie via HOME); ports are free ones.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.js';

export interface PrivateRabbit {
  /** amqp://user:password@127.0.0.1:port — the password is random and only ever written to the temp config. */
  url: string;
  user: string;
  password: string;
  node: string;
  /** Runs `rabbitmqctl -n <node> ...args` and returns its output. */
  ctl(...args: string[]): Promise<string>;
  /** Stops the node (`rabbitmqctl stop`), waits for the process and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Where the real RabbitMQ scripts are. Not /usr/sbin/rabbitmq-server: that wrapper re-runs itself as the
 * `rabbitmq` user with the system log files, which would mix this node into the shared broker's files.
 */
export function rabbitmqBinDir(): string | undefined {
  const candidates = [process.env.BULWARK_TEST_RABBITMQ_BIN, '/usr/lib/rabbitmq/bin', '/usr/local/lib/rabbitmq/bin'];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'rabbitmq-server')) && existsSync(join(d, 'rabbitmqctl')));
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port was assigned');
  return address.port;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function startPrivateRabbit(binDir: string): Promise<PrivateRabbit> {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-rabbit-'));
  const node = `bwk-${randomBytes(4).toString('hex')}@localhost`;
  const user = 'bulwark';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const [port, distPort] = [await freePort(), await freePort()];
  const envFile = join(dir, 'rabbitmq-env.conf');
  writeFileSync(envFile, ''); // keeps /etc/rabbitmq/rabbitmq-env.conf (the shared node's name) out
  writeFileSync(join(dir, 'enabled_plugins'), '');
  writeFileSync(join(dir, 'rabbitmq.conf'), `default_user = ${user}\ndefault_pass = ${password}\nloopback_users = none\n`, { mode: 0o600 });
  // HOME holds the Erlang cookie that rabbitmqctl needs: a private one, next to the node.
  const ctlEnv = { ...process.env, HOME: dir, RABBITMQ_CONF_ENV_FILE: envFile };
  const serverEnv = {
    ...ctlEnv,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
  };
  const child: ChildProcess = spawn(join(binDir, 'rabbitmq-server'), [], { env: serverEnv, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ctl = (...args: string[]): Promise<string> => run(join(binDir, 'rabbitmqctl'), ['-n', node, ...args], ctlEnv, 90_000);
  const waitExit = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve(true);
        return;
      }
      const timer = setTimeout(() => resolve(false), ms);
      void exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  // The script stays as a parent of the Erlang VM, so the VM is stopped through rabbitmqctl or the script's
  // SIGTERM trap; only as a last resort is the VM (its pid from our own pid file) killed.
  const stop = async (): Promise<void> => {
    await ctl('stop').catch(() => undefined);
    if (!(await waitExit(30_000))) {
      child.kill('SIGTERM');
      if (!(await waitExit(15_000))) {
        const pid = Number(existsSync(join(dir, 'node.pid')) ? readFileSync(join(dir, 'node.pid'), 'utf8').trim() : NaN);
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
        await waitExit(15_000);
      }
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // await_startup fails at once while the node has not registered with epmd yet: retry until it answers.
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('rabbitmq-server exited during start-up');
      try {
        await ctl('await_startup', '--timeout', '90');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  } catch (err) {
    const why = `private RabbitMQ ${node} did not start: ${(err as Error).message.slice(0, 2000)}\n${output.slice(-3000)}`;
    await stop();
    throw new Error(why, { cause: err });
  }
  return { url: `amqp://${user}:${password}@127.0.0.1:${port}`, user, password, node, ctl, stop };
}
