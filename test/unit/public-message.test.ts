import { expect } from 'chai';
import { publicMessage, withoutNamedPlaces } from '../../src/api/public-message.js';

describe('API error messages: server paths', () => {
  const places = {
    named: [
      { path: '/var/lib/bulwark', label: 'Bulwark home' },
      { path: '/var/lib/bulwark/banks/main', label: 'a bank directory' },
    ],
    visible: ['/srv/restore'],
  };
  const say = (message: string, sent: string[] = []) => publicMessage(message, new Set(sent), places);

  it('response bodies (records read later) name the home and banks by what they are, not where', () => {
    const body = JSON.stringify({
      reason: "BWK_ERR_BANK_IO: open '/var/lib/bulwark/banks/main/packs/ab' failed",
      home: '/var/lib/bulwark',
    });
    expect(withoutNamedPlaces(body, places)).to.equal(
      JSON.stringify({ reason: "BWK_ERR_BANK_IO: open '<a bank directory>/packs/ab' failed", home: '<Bulwark home>' }),
    );
    // A longer name that only starts like the home is another place.
    expect(withoutNamedPlaces('/var/lib/bulwark-old/x', places)).to.equal('/var/lib/bulwark-old/x');
  });

  it('names a known place by what it is, the longest match first', () => {
    expect(say('inside the forbidden path /var/lib/bulwark')).to.equal('inside the forbidden path <Bulwark home>');
    expect(say('object /var/lib/bulwark/banks/main/x/y is bad')).to.equal('object <a bank directory>/x/y is bad');
  });

  it('keeps what the caller sent, and the allowed restore targets, as they are', () => {
    expect(say('restore target /var/lib/bulwark/x is denied', ['/var/lib/bulwark/x'])).to.equal(
      'restore target /var/lib/bulwark/x is denied',
    );
    expect(say('allowed: /srv/restore, /etc')).to.equal('allowed: /srv/restore, <server path>');
  });

  it('replaces any other absolute path, keeping the punctuation around it', () => {
    expect(say("ENOENT: open '/etc/shadow'.")).to.equal("ENOENT: open '<server path>'.");
    expect(say('it resolves to /data/real.')).to.equal('it resolves to <server path>.');
    expect(say('(it resolves to /data/real)')).to.equal('(it resolves to <server path>)');
  });

  it('leaves URLs, relative paths and routes the caller asked for alone', () => {
    expect(say('service at http://10.0.0.1:8780/v1 cannot be reached')).to.equal('service at http://10.0.0.1:8780/v1 cannot be reached');
    expect(say('provider file config/providers/x.yaml:12: bad')).to.equal('provider file config/providers/x.yaml:12: bad');
    expect(say('no route GET /v1/p/x', ['/v1/p/x'])).to.equal('no route GET /v1/p/x');
  });

  it('keeps a sent path with spaces whole, but not a server path that extends it', () => {
    expect(say('target /srv/my dir is denied', ['/srv/my dir'])).to.equal('target /srv/my dir is denied');
    expect(say('it resolves to /srv/my dir/../../var/x', ['/srv/my dir'])).to.not.contain('/var/x');
  });
});
