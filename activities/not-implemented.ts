// Adapters that are not built yet fail loudly: a release never pretends a step happened.
import { ApplicationFailure } from '@temporalio/common';

export const NOT_IMPLEMENTED = 'NotImplemented';

export function notImplemented(adapter: string, issue: number) {
  return async (): Promise<never> => {
    throw ApplicationFailure.nonRetryable(
      `the ${adapter} adapter is not implemented yet (tracked in issue #${issue}); this step did not run`,
      NOT_IMPLEMENTED,
    );
  };
}
