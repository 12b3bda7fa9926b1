// Moved to src/util (the warehouse gateway's activities use it too).
export { inParallel } from '../../src/util/in-parallel';
