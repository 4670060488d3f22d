import { MemoryBreakerStateStore } from '../../lib/core/breaker/ports';
import { breakerStateContract } from './breaker-state-contract';

breakerStateContract('memory', async () => new MemoryBreakerStateStore());
