// Imported first by metrics.test.ts: the SDK runtime is installed when test/support/temporal.ts loads,
// so the Prometheus address must be in the environment before that import runs.
export const TEMPORAL_METRICS_ADDRESS = `127.0.0.1:${20_000 + Math.floor(Math.random() * 30_000)}`;
process.env.LOOPLINE_TEST_TEMPORAL_METRICS = TEMPORAL_METRICS_ADDRESS;
