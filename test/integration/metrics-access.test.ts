import { expect } from 'chai';
import { listenMetrics, type MetricsListener } from '../../src/api/metrics-listener.js';
import { silentLogger } from '../../src/common/logging.js';

const TOKEN_ENV = 'BWK_TEST_METRICS_TOKEN';

/** metrics.access on a metrics.port listener: the token rule, and the coded answer without it. */
describe('integration: /metrics access', () => {
  const listeners: MetricsListener[] = [];
  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    delete process.env[TOKEN_ENV];
  });
  const start = async (access: 'loopback' | 'token' | 'open') => {
    const l = await listenMetrics({ port: 0, host: '127.0.0.1', access, token_env: TOKEN_ENV }, silentLogger);
    listeners.push(l!);
    return l!.url;
  };

  it('access token: 401 BWK_ERR_METRICS_UNAUTHORIZED without the token or with another; the metrics with it', async () => {
    process.env[TOKEN_ENV] = 'scrape-secret-1';
    const url = await start('token');
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'scrape-secret-1' }] as Array<Record<string, string>>) {
      const res = await fetch(url, { headers });
      expect(res.status).to.equal(401);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).to.equal('BWK_ERR_METRICS_UNAUTHORIZED');
      expect(body.message).to.include('metrics.token_env').and.not.include('scrape-secret-1');
    }
    const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-secret-1' } });
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.match(/^# HELP bulwark_/m);
  });

  it('access loopback (the default) and open: a caller on 127.0.0.1 scrapes without a token', async () => {
    for (const access of ['loopback', 'open'] as const) expect((await fetch(await start(access))).status).to.equal(200);
  });

  it('without metrics.port there is no listener', async () => {
    expect(await listenMetrics({ host: '127.0.0.1', access: 'loopback' }, silentLogger)).to.equal(null);
  });

  it('the listener serves nothing but /metrics', async () => {
    const url = await start('open');
    const res = await fetch(url.replace(/\/metrics$/, '/v1/identity'));
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { code: string }).code).to.equal('BWK_ERR_NOT_FOUND');
  });
});
