/**
 * The operator API (docs/openapi.json): start, list, follow, dry-run,
 * confirm consumers moved, cancel; and the read-only fleet views: history,
 * key report, dashboard. Function keys guard every route, unless
 * OPERATOR_API_AUTH=entra-id: then App Service authentication signs callers in
 * and the app checks their app roles (src/api/auth.ts), and a function key
 * alone no longer opens anything. The operations themselves are in src/api.
 */
import { app, type HttpMethod } from '@azure/functions';
import * as df from 'durable-functions';
import type { OperationName } from '../src/api/auth.js';
import { runtimeApiDependencies } from '../src/api/dependencies.js';
import { httpOperation } from '../src/api/http-handler.js';
import { getDashboard, getKeyReport, getRotationHistory } from '../src/api/fleet-operations.js';
import { cancelRotation, consumersMoved, getRotation, getRotationPlan, listRotations, startRotation, type Operation } from '../src/api/operations.js';
import { operatorApiAuthOf } from '../src/config.js';

// With Entra ID in front, the platform admits only signed-in callers and the app checks their roles.
const authLevel = operatorApiAuthOf() === 'entra-id' ? 'anonymous' : 'function';

function route(name: OperationName, method: HttpMethod, path: string, operation: Operation): void {
  app.http(name, {
    methods: [method],
    route: path,
    authLevel,
    extraInputs: [df.input.durableClient()],
    handler: httpOperation(name, operation, runtimeApiDependencies),
  });
}

route('startRotation', 'POST', 'rotations', startRotation);
route('listRotations', 'GET', 'rotations', listRotations);
route('getRotation', 'GET', 'rotations/{account}', getRotation);
route('getRotationPlan', 'GET', 'rotations/{account}/plan', getRotationPlan);
route('consumersMoved', 'POST', 'rotations/{account}/consumers-moved', consumersMoved);
route('cancelRotation', 'POST', 'rotations/{account}/cancel', cancelRotation);
route('getRotationHistory', 'GET', 'rotations/{account}/history', getRotationHistory);
route('getKeyReport', 'GET', 'keys', getKeyReport);
route('getDashboard', 'GET', 'dashboard', getDashboard);
