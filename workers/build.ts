// Worker: build activities (task queue shipyard-build).
import { main } from './worker.js';
main(['build']);
