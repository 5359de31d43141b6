import { badRequest } from './api-error.js';
import type { KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';

export type LabelRequirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

/** A parsed label selector: every requirement must hold. An empty list matches everything. */
export type LabelSelector = readonly LabelRequirement[];

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/**
 * Parses the `labelSelector` query syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`,
 * `a>1`, `a<1`, comma-separated.
 */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return [];
  const requirements: LabelRequirement[] = [];
  for (const part of splitTopLevel(text)) {
    requirements.push(parseRequirement(part.trim(), text));
  }
  return requirements;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseRequirement(part: string, whole: string): LabelRequirement {
  const fail = (): never => {
    throw badRequest(`unable to parse requirement: found '${part}', in selector '${whole}'`);
  };
  const key = (k: string): string => (KEY.test(k.trim()) ? k.trim() : fail());
  if (part.startsWith('!')) return { key: key(part.slice(1)), op: 'notexists' };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (set) {
    const values = set[3]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return { key: key(set[1]!), op: set[2] as 'in' | 'notin', values };
  }
  const cmp = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(part);
  if (cmp) {
    const [, k, op, value] = cmp as unknown as [string, string, string, string];
    if (op === '>' || op === '<') {
      const n = Number(value);
      if (!Number.isInteger(n)) fail();
      return { key: key(k), op: op === '>' ? 'gt' : 'lt', value: n };
    }
    return { key: key(k), op: op === '!=' ? 'notin' : 'in', values: [value.trim()] };
  }
  return { key: key(part), op: 'exists' };
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const req of selector) {
    const value = labels?.[req.key];
    switch (req.op) {
      case 'exists':
        if (value === undefined) return false;
        break;
      case 'notexists':
        if (value !== undefined) return false;
        break;
      case 'in':
        if (value === undefined || !req.values.includes(value)) return false;
        break;
      case 'notin':
        if (value !== undefined && req.values.includes(value)) return false;
        break;
      case 'gt':
      case 'lt': {
        const n = Number(value);
        if (value === undefined || !Number.isInteger(n)) return false;
        if (req.op === 'gt' ? !(n > req.value) : !(n < req.value)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

export type FieldSelector = readonly FieldRequirement[];

/**
 * Parses `fieldSelector`: `f=v`, `f==v`, `f!=v`, comma-separated, `\` escapes. Like the real server, only
 * metadata.name, metadata.namespace and the resource's own fields are allowed.
 */
export function parseFieldSelector(text: string | undefined, type: ResourceType): FieldSelector {
  if (text === undefined || text.trim() === '') return [];
  const requirements: FieldRequirement[] = [];
  for (const part of splitUnescaped(text, ',')) {
    const match = /^([^=!]+)(==|=|!=)(.*)$/s.exec(part);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = match[1]!.trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !type.fieldSelectors.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    requirements.push({ field, value: unescape(match[3]!), negate: match[2] === '!=' });
  }
  return requirements;
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1]!;
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export function matchesFields(selector: FieldSelector, object: KubeObject): boolean {
  for (const req of selector) {
    const equal = fieldValue(object, req.field) === req.value;
    if (equal === req.negate) return false;
  }
  return true;
}

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The single object name a field selector pins (`metadata.name=x`), as RBAC reads it for list and watch. */
export function selectedName(selector: FieldSelector): string | undefined {
  return selector.find((r) => r.field === 'metadata.name' && !r.negate)?.value;
}
