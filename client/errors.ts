/** A problem the caller caused (unknown release, refused approval, bad argument). */
export class ShipyardUsageError extends Error {
  override name = 'ShipyardUsageError';
  constructor(
    message: string,
    readonly kind: 'not-found' | 'refused' | 'invalid' = 'invalid',
  ) {
    super(message);
  }
}
