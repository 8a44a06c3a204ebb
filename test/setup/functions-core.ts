// Every test file: the Functions host's core module must be in place before
// @azure/functions is first used, because it caches a failed lookup.
import { installFunctionsHost } from '../../emulator/durable/functions-host.js';

installFunctionsHost();
