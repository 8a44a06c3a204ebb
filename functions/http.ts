/**
 * The operator API (docs/openapi.json): start, list, follow, dry-run,
 * confirm consumers moved, cancel; and the read-only fleet views: history,
 * key report, dashboard. Function keys guard every route; the
 * operations themselves are in src/api.
 */
import { app, type HttpMethod } from '@azure/functions';
import * as df from 'durable-functions';
import { runtimeApiDependencies } from '../src/api/dependencies.js';
import { httpOperation } from '../src/api/http-handler.js';
import { getDashboard, getKeyReport, getRotationHistory } from '../src/api/fleet-operations.js';
import { cancelRotation, consumersMoved, getRotation, getRotationPlan, listRotations, startRotation, type Operation } from '../src/api/operations.js';

function route(name: string, method: HttpMethod, path: string, operation: Operation): void {
  app.http(name, {
    methods: [method],
    route: path,
    authLevel: 'function',
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
