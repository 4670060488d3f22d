import { MemoryBreakerStateStore } from '../../../../lib/core/search/breaker/ports';
import { breakerStateContract } from './state-contract';

breakerStateContract('memory', async () => new MemoryBreakerStateStore());
