import { describeEngineContract } from './engine.contract.js';

describeEngineContract('local', 'engine: local');
