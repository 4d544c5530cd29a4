// Worker: deploy, traffic, metric and integration activities (task queue shipyard-deploy).
import { main } from './worker.js';
main(['deploy']);
