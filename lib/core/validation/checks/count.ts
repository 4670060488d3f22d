import type { CheckRunner } from './context';

/** Record counts on both sides, equal within a tolerance (absolute, or a percentage of the source count). */
export const countCheck: CheckRunner<'count'> = async (c, ctx) => {
  const [source, target] = await Promise.all([ctx.connector(c.source).count(ctx.signal), ctx.connector(c.target).count(ctx.signal)]);
  const allowed = typeof c.tolerance === 'number' ? c.tolerance : (Number.parseFloat(c.tolerance) / 100) * source;
  const difference = target - source;
  const passed = Math.abs(difference) <= allowed;
  const sign = difference > 0 ? '+' : '';
  return {
    passed,
    summary: `source ${source}, target ${target} (${sign}${difference}${difference ? `, ${passed ? 'within' : 'over'} the tolerance of ${fmt(allowed)}` : ''})`,
    evidence: { source, target, difference, tolerance: c.tolerance, allowedDifference: fmt(allowed) },
  };
};

const fmt = (x: number) => Math.round(x * 1000) / 1000;
