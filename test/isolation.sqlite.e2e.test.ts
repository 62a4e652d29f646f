import { isolationSuite } from './helpers/isolation-suite.js';

/** Tenant isolation on embedded SQLite (API and worker in one process). */
isolationSuite('sqlite');
