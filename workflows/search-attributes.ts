// Typed search attribute keys. The Temporal UI lists and filters releases by them.
// Never put secrets here: search attributes bypass payload codecs.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  service: defineSearchAttributeKey('ShipyardService', SearchAttributeType.KEYWORD),
  environment: defineSearchAttributeKey('ShipyardEnvironment', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('ShipyardVersion', SearchAttributeType.KEYWORD),
  commit: defineSearchAttributeKey('ShipyardCommit', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('ShipyardStage', SearchAttributeType.KEYWORD),
  canaryWeight: defineSearchAttributeKey('ShipyardCanaryWeight', SearchAttributeType.INT),
  outcome: defineSearchAttributeKey('ShipyardOutcome', SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey('ShipyardTrigger', SearchAttributeType.KEYWORD),
  /** The train ID, on the train and on each of its releases. */
  train: defineSearchAttributeKey('ShipyardTrain', SearchAttributeType.KEYWORD),
} as const;

/** name -> type as `temporal server start-dev --search-attribute` and `operator search-attribute create` take it. */
export const SEARCH_ATTRIBUTE_REGISTRATION: Record<string, 'Keyword' | 'Int'> = Object.fromEntries(
  Object.values(SA).map((key) => [key.name, key.type === SearchAttributeType.INT ? 'Int' : 'Keyword']),
);
