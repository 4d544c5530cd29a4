// Worker: release workflows (task queue shipyard-orchestrator).
import { main } from './worker.js';
main(['orchestrator']);
