/**
 * The RPC transport port: how the API, the CLI and the operation engine reach the protection service.
 * Adapters: `in-process.ts` (embedded mode) and `amqp.ts` (RabbitMQ, distributed mode); both pass
 * test/contracts/rpc.contract.ts, so code written against this port behaves the same in either mode.
 *
 * Everything crosses the transport as JSON, in both adapters: handlers never share objects with callers,
 * and errors arrive rebuilt from `{code, message, details}` (match on `code`, never on `instanceof`).
 *
 * Idempotency is split in two, on purpose:
 * - the transport passes `meta.idempotencyKey` to the handler and, within one process, never runs the handler
 *   twice for a key: a request whose key is in flight waits for that run, and a key that finished recently
 *   (minutes; outcomes with a retryable error are not kept) gets the same outcome again. That covers a
 *   broker redelivering a request after a connection drop and a caller retrying after BWK_ERR_RPC_UNAVAILABLE.
 * - the durable guarantee belongs to the handler: another server process, or this one after a restart, has no
 *   memory of the key. Callers of state-changing methods (`execute_operation`) use the operation id as the
 *   key and the engine runs at most one operation per id.
 *
 * A call may instead ask for `atMostOnce` delivery, for work that runs far longer than a broker lets a delivery
 * go unacknowledged (RabbitMQ's consumer_timeout, 30 min by default, closes the channel and redelivers) and
 * that must not silently start over: the server acknowledges the request as soon as it has it, so it is never
 * redelivered — not after a consumer timeout, a connection loss, or the death of the server running it. Its
 * reply is still sent when the work ends, on the server's current connection. If the server dies meanwhile,
 * no reply ever comes: the caller learns it from its timeout (BWK_ERR_RPC_TIMEOUT).
 */

/**
 * Serves one request; resolves with a JSON-serializable result or throws (a BulwarkError, ideally). The transport
 * knows no methods: a handler throws BWK_ERR_RPC_METHOD_UNKNOWN for one it does not serve.
 */
export type RpcHandler = (method: string, params: unknown, meta: { idempotencyKey?: string }) => Promise<unknown>;

export interface CallOptions {
  /** How long to wait for the reply (default 30 s). */
  timeoutMs?: number;
  idempotencyKey?: string;
  /** Delivered at most once: acknowledged on receipt, never redelivered (see above). */
  atMostOnce?: boolean;
}

export interface RpcServer {
  /** Stops taking requests from the queue, lets requests already being handled finish and reply, then returns. */
  close(): Promise<void>;
}

export interface RpcTransport {
  /**
   * Serves `queue` with `handler`; several servers on one queue share the load (competing consumers).
   * `prefetch` (default 10) bounds how many requests this server handles at once. Requests sent while no
   * server consumes the queue wait in it until one does or until their caller's timeout passes.
   */
  serve(queue: string, handler: RpcHandler, options?: { prefetch?: number }): Promise<RpcServer>;

  /**
   * Calls `method` and resolves with its result or rejects with the handler's error rebuilt from
   * {code,message,details} (match on `code`). Rejects BWK_ERR_RPC_TIMEOUT when no reply came within
   * `timeoutMs` (default 30 s) and BWK_ERR_RPC_UNAVAILABLE when the broker is unreachable for that long or
   * the connection drops while the call is in flight (it may or may not have run: retry with the same
   * `idempotencyKey`). Never waits longer than `timeoutMs`; a reply arriving later is dropped.
   */
  call<T>(queue: string, method: string, params: unknown, options?: CallOptions): Promise<T>;

  /**
   * Publishes a status event on the topic exchange `bulwark.events` (routing key e.g. `checkpoint.available`).
   * Resolves once the event is with the broker (AMQP: confirmed), so closing the transport right after loses
   * nothing. Best effort: never throws; an event that cannot be sent (broker down for a few seconds, value not
   * JSON) is logged and dropped, so subscribers must treat events as hints and read state from its owner.
   */
  publish(routingKey: string, event: unknown): Promise<void>;

  /**
   * Subscribes to `bulwark.events` with an AMQP topic binding pattern (`checkpoint.*`, `#.error`); once the
   * promise resolves, events published afterwards reach `listener` (a copy of each, as JSON). The subscription
   * survives reconnections; events published while it is disconnected are missed. Returns an unsubscribe
   * function; after it resolves the listener is not called again.
   */
  subscribe(pattern: string, listener: (routingKey: string, event: unknown) => void): Promise<() => Promise<void>>;

  /**
   * Closes servers (letting requests in progress finish), subscriptions and the connection. Calls still
   * waiting reject with BWK_ERR_RPC_UNAVAILABLE, and so does every later use. Calling it twice is harmless.
   */
  close(): Promise<void>;
}
