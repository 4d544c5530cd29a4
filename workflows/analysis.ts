// The measurement judge lives in spec/judge.ts (pure; the workflows and the measuring activity share it).
export * from '../spec/judge.js';
