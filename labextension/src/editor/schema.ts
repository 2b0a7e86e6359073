import type { JSONSchema7 } from 'json-schema';

/** A data source as completion offers it. */
export interface IDatasourceName {
  name: string;
  type: string;
}

/**
 * The script's schema with the data source names as `examples` of every
 * `datasource` property, so that the schema completion offers them (examples
 * do not constrain validation: the server reports unknown data sources).
 * Returns a copy; the original is left alone.
 */
export function withDatasourceNames(
  schema: JSONSchema7,
  datasources: readonly IDatasourceName[]
): JSONSchema7 {
  const names = [...new Set(datasources.map(d => d.name))].sort();
  const copy = JSON.parse(JSON.stringify(schema)) as JSONSchema7;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!node || typeof node !== 'object') {
      return;
    }
    const property = (node as JSONSchema7).properties?.datasource;
    if (property && typeof property === 'object') {
      property.examples = names;
      for (const branch of property.anyOf ?? []) {
        if (
          typeof branch === 'object' &&
          (branch.type === 'string' ||
            (Array.isArray(branch.type) && branch.type.includes('string')))
        ) {
          branch.examples = names;
        }
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(copy);
  return copy;
}
