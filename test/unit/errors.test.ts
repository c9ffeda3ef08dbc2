import { expect } from 'chai';
import {
  BulwarkError,
  bwkError,
  ERRORS,
  formatMessage,
  fromErrorJSON,
  isBulwarkError,
  isRetryable,
  reasonOf,
  toBulwarkError,
  toErrorJSON,
} from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { PluginError } from '../../src/plugins/api.js';

const errnoError = (code: string): Error => Object.assign(new Error(`${code} on socket`), { code });

describe('error registry', () => {
  it('names every code BWK_ERR_* with an HTTP status in 400-599 and a message', () => {
    const codes = Object.keys(ERRORS);
    expect(codes.length).to.be.greaterThan(10);
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).to.match(/^BWK_ERR_[A-Z_]+$/);
      expect(spec.status, code).to.be.within(400, 599);
      expect(spec.message, code).to.be.a('string').and.not.equal('');
      expect(spec.retryable, code).to.be.a('boolean');
    }
  });

  it('fills message templates from parameters and leaves unknown placeholders visible', () => {
    expect(formatMessage('plan {id} of {project}', { id: 'p1', project: 7 })).to.equal('plan p1 of 7');
    expect(formatMessage('plan {id}: {reason}', { id: 'p1' })).to.equal('plan p1: {reason}');
    expect(formatMessage('flag {on}', { on: false })).to.equal('flag false');
    const err = bwkError('BWK_ERR_PROVIDER_INVALID', { file: 'p.yaml', line: 12, reason: 'bad' });
    expect(err.message).to.equal('provider file p.yaml:12: bad');
    expect(err).to.be.instanceOf(BulwarkError);
    expect(err).to.include({ code: 'BWK_ERR_PROVIDER_INVALID', status: 400, retryable: false, name: 'BulwarkError' });
    expect(err.details).to.deep.equal({ file: 'p.yaml', line: 12, reason: 'bad' });
  });

  describe('toErrorJSON', () => {
    it('serializes a BulwarkError as code, message and details', () => {
      const cause = new Error('disk gone');
      const json = toErrorJSON(bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: 'p1' }, { cause, details: { hint: 'list plans' } }));
      expect(json).to.deep.equal({
        code: 'BWK_ERR_PLAN_NOT_FOUND',
        message: 'plan p1 not found',
        details: { id: 'p1', hint: 'list plans' },
      });
    });

    it('turns a plain Error into BWK_ERR_INTERNAL without a stack trace', () => {
      const json = toErrorJSON(new Error('boom'));
      expect(json).to.deep.equal({ code: 'BWK_ERR_INTERNAL', message: 'internal error: boom', details: { reason: 'boom' } });
      expect(JSON.stringify(json)).not.to.contain('at ');
      expect(toErrorJSON('just a string').message).to.equal('internal error: just a string');
    });

    it('keeps the registry code and message of an error-like object', () => {
      const corrupt = Object.assign(new Error('payload differs'), { code: 'BWK_ERR_DATA_CORRUPT' });
      expect(toErrorJSON(corrupt)).to.include({ code: 'BWK_ERR_DATA_CORRUPT', message: 'payload differs' });
      const plugin = new PluginError('lease busy', { code: 'BWK_ERR_LEASE_HELD' });
      expect(toErrorJSON(plugin)).to.include({ code: 'BWK_ERR_LEASE_HELD', message: 'lease busy' });
    });

    it('does not take an unregistered or inherited code for a registry code', () => {
      for (const code of ['ENOENT', 'BWK_ERR_NO_SUCH_CODE', 'toString', '__proto__']) {
        const err = Object.assign(new Error('x'), { code });
        expect(isBulwarkError(err), code).to.equal(false);
        expect(toErrorJSON(err).code, code).to.equal('BWK_ERR_INTERNAL');
      }
    });
  });

  describe('fromErrorJSON', () => {
    it('round-trips code, status, message, details and retryable for every registry code', () => {
      for (const code of Object.keys(ERRORS) as ErrorCode[]) {
        const original = bwkError(code, { id: 'x1', reason: 'because' });
        const back = fromErrorJSON(JSON.parse(JSON.stringify(toErrorJSON(original))));
        expect(back, code).to.be.instanceOf(BulwarkError);
        expect(
          { code: back.code, status: back.status, retryable: back.retryable, message: back.message, details: back.details },
          code,
        ).to.deep.equal({
          code,
          status: ERRORS[code].status,
          retryable: ERRORS[code].retryable,
          message: original.message,
          details: original.details,
        });
      }
    });

    it('keeps a retryable flag that differs from the registry across the trip', () => {
      const optedIn = toBulwarkError(new PluginError('flaky backend', { code: 'BWK_ERR_DATA_CORRUPT', retryable: true }));
      expect(fromErrorJSON(JSON.parse(JSON.stringify(optedIn.toJSON()))).retryable).to.equal(true);
      const optedOut = bwkError('BWK_ERR_BANK_IO', { key: 'k', reason: 'r' }, { retryable: false });
      expect(fromErrorJSON(JSON.parse(JSON.stringify(optedOut.toJSON()))).retryable).to.equal(false);
      const transient = toErrorJSON(errnoError('ECONNRESET'));
      expect(transient.code).to.equal('BWK_ERR_INTERNAL');
      expect(fromErrorJSON(transient).retryable).to.equal(true);
    });

    it('turns an unknown code into BWK_ERR_INTERNAL, keeping the message', () => {
      for (const code of ['BWK_ERR_FROM_THE_FUTURE', 'constructor']) {
        const back = fromErrorJSON({ code, message: 'newer server said no' });
        expect(back).to.include({ code: 'BWK_ERR_INTERNAL', status: 500, message: 'newer server said no' });
      }
    });
  });

  describe('isRetryable', () => {
    it('follows the registry flag of a coded error', () => {
      expect(isRetryable(bwkError('BWK_ERR_BANK_IO', { key: 'k', reason: 'r' }))).to.equal(true);
      expect(isRetryable(bwkError('BWK_ERR_TASK_TIMEOUT', { task: 't', timeout_ms: 1 }))).to.equal(true);
      expect(isRetryable(bwkError('BWK_ERR_DATA_CORRUPT', { resource: 'r', reason: 'x' }))).to.equal(false);
      expect(isRetryable(Object.assign(new Error('x'), { code: 'BWK_ERR_LEASE_HELD' }))).to.equal(true);
    });

    it('lets an explicit retryable flag win over the code', () => {
      expect(isRetryable(Object.assign(new Error('x'), { retryable: true }))).to.equal(true);
      expect(isRetryable(new PluginError('x', { code: 'BWK_ERR_DATA_CORRUPT', retryable: true }))).to.equal(true);
      expect(isRetryable(bwkError('BWK_ERR_BANK_IO', { key: 'k', reason: 'r' }, { retryable: false }))).to.equal(false);
      expect(isRetryable(Object.assign(errnoError('ECONNRESET'), { retryable: false }))).to.equal(false);
    });

    it('retries transient system errors and nothing else', () => {
      for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAGAIN', 'EBUSY', 'EPIPE', 'EMFILE']) {
        expect(isRetryable(errnoError(code)), code).to.equal(true);
      }
      for (const err of [
        errnoError('ENOENT'),
        errnoError('EACCES'),
        new Error('plain'),
        'text',
        null,
        undefined,
        42,
        Object.assign(new Error('x'), { code: 'toString' }),
      ]) {
        expect(isRetryable(err), String(err)).to.equal(false);
      }
    });

    it('is unchanged by wrapping an error with toBulwarkError', () => {
      for (const err of [
        errnoError('ECONNRESET'),
        errnoError('ENOENT'),
        Object.assign(new Error('x'), { retryable: true }),
        new Error('plain'),
      ]) {
        expect(toBulwarkError(err).retryable, err.message).to.equal(isRetryable(err));
      }
    });
  });

  it('gives a short reason naming the code of coded errors', () => {
    expect(reasonOf(bwkError('BWK_ERR_PLAN_NOT_FOUND', { id: 'p1' }))).to.equal('BWK_ERR_PLAN_NOT_FOUND: plan p1 not found');
    expect(reasonOf(new Error('plain'))).to.equal('plain');
    expect(reasonOf(3)).to.equal('3');
  });
});
