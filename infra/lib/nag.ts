import type { Stack } from 'aws-cdk-lib';

/**
 * How cdk-nag spells a resource in an IAM5 finding id (`Resource::<this>`): literals as is,
 * `Ref` as `<Name>`, `Fn::GetAtt` as `<Name.Attr>`, `Fn::Join` flattened.
 */
export function nagResource(stack: Stack, value: unknown): string {
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(flatten).join('');
    const o = v as Record<string, unknown>;
    if (o.Ref !== undefined) return `<${String(o.Ref)}>`;
    if (o['Fn::GetAtt'] !== undefined) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (o['Fn::Join'] !== undefined) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    return JSON.stringify(v);
  };
  return flatten(stack.resolve(value));
}
