/**
 * Side-effect import: installs the `@azure/functions-core` stand-in. Import it before
 * any module that registers functions (ES modules evaluate imports in order):
 *
 *   import '../emulator/durable/install.js';
 *   import '../functions/index.js';
 */
import { installFunctionsHost } from './functions-host.js';

installFunctionsHost();
