/** Resolves on SIGTERM or SIGINT: long-running commands (serve, api, protection-service) stop cleanly on either. */
export const stopSignal = (): Promise<void> =>
  new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
