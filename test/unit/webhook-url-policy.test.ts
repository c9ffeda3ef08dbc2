import { expect } from 'chai';
import { isBulwarkError } from '../../src/core/errors.js';
import { backoffMs } from '../../src/notifications/dispatcher.js';
import { checkWebhookTarget, checkWebhookUrl, type UrlPolicy } from '../../src/notifications/url-policy.js';
import { checkFilter } from '../../src/notifications/subscriptions.js';

const DEFAULT: UrlPolicy = { allowed_hosts: [], allow_private: false };
const PRIVATE_OK: UrlPolicy = { allowed_hosts: [], allow_private: true };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isBulwarkError(err) && err.code, String(err)).to.equal('BWK_ERR_WEBHOOK_URL_REFUSED');
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('webhook URL policy', () => {
  it('refuses link-local and metadata addresses in every spelling, even with allow_private', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.0.1/',
      'http://[fe80::1]/',
      'http://[febf::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://2852039166/', // 169.254.169.254 as one decimal number: URL parsing normalises it
      'http://0xa9.0xfe.0xa9.0xfe/',
      'http://[fd00:ec2::254]/',
      'http://100.100.100.200/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://0.0.0.0/',
    ])
      for (const policy of [DEFAULT, PRIVATE_OK])
        expect(
          refusal(() => checkWebhookUrl(url, policy)),
          url,
        ).to.include('webhook URL refused');
  });

  it('refuses loopback and private addresses unless allow_private or the host is listed', () => {
    for (const url of [
      'http://127.0.0.1:9/',
      'http://127.1/',
      'http://[::1]/',
      'http://localhost/',
      'http://10.1.2.3/',
      'http://192.168.0.1/',
      'http://[fd12::1]/',
    ]) {
      refusal(() => checkWebhookUrl(url, DEFAULT));
      expect(checkWebhookUrl(url, PRIVATE_OK).toString()).to.be.a('string');
    }
    expect(checkWebhookUrl('http://127.0.0.1:8080/x', { allowed_hosts: ['127.0.0.1'], allow_private: false }).port).to.equal('8080');
    refusal(() => checkWebhookUrl('http://127.0.0.2/', { allowed_hosts: ['127.0.0.1'], allow_private: false }));
  });

  it('refuses other schemes, credentials in the URL and what is not a URL', () => {
    for (const url of [
      'file:///etc/passwd',
      'gopher://example.com/',
      'ftp://example.com/',
      'https://u:p@example.com/',
      'not a url',
      '//example.com/',
    ])
      refusal(() => checkWebhookUrl(url, DEFAULT));
    expect(checkWebhookUrl('https://hooks.example.com/a?b=c', DEFAULT).hostname).to.equal('hooks.example.com');
  });

  it('checks the addresses a name resolves to at delivery', async () => {
    const answering =
      (...addresses: string[]) =>
      async () =>
        addresses;
    const refused = async (url: string, resolve: () => Promise<string[]>, policy = DEFAULT) => {
      const err = await checkWebhookTarget(url, policy, resolve).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isBulwarkError(err) && err.code, url).to.equal('BWK_ERR_WEBHOOK_URL_REFUSED');
      return (err as Error).message;
    };
    // A public-looking name that points at the metadata service, or (one of its addresses) at loopback.
    expect(await refused('http://hooks.example.com/', answering('169.254.169.254'), PRIVATE_OK)).to.include('link-local');
    expect(await refused('http://hooks.example.com/', answering('93.184.216.34', '127.0.0.1'))).to.include('loopback');
    expect(await refused('http://hooks.example.com/', answering('::ffff:10.0.0.1'))).to.include('private');
    expect(
      await refused('http://hooks.example.com/', () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))),
    ).to.include('does not resolve');
    expect((await checkWebhookTarget('http://hooks.example.com/', DEFAULT, answering('93.184.216.34'))).hostname).to.equal(
      'hooks.example.com',
    );
    // The root label's dot does not hide localhost from the check by name.
    refusal(() => checkWebhookUrl('http://localhost./', DEFAULT));
  });
});

describe('webhook retries and filters', () => {
  it('backs off exponentially, capped', () => {
    const retry = { max_attempts: 10, initial_delay_ms: 1000, max_delay_ms: 5000 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffMs(n, retry))).to.deep.equal([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('refuses unknown filter keys, kinds, outcomes and plan ids that are not UUIDs', () => {
    expect(checkFilter(undefined)).to.deep.equal({ kinds: [], outcomes: [], plan_ids: [] });
    expect(checkFilter({ kinds: ['protect', 'protect'], outcomes: ['error'] })).to.deep.equal({
      kinds: ['protect'],
      outcomes: ['error'],
      plan_ids: [],
    });
    for (const bad of [
      { kind: ['protect'] },
      { kinds: ['rm -rf'] },
      { outcomes: ['ok'] },
      { plan_ids: ['../x'] },
      { kinds: 'protect' },
      [],
      { kinds: [1] },
    ])
      expect(() => checkFilter(bad)).to.throw(/filter|plan id/);
  });
});
