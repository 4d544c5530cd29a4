// Worker: every role in one process, for development and the embedded stack (`npm start`).
import { main, ROLES } from './worker.js';
main(ROLES);
