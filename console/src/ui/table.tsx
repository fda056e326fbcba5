import type { ReactNode } from 'react';

/**
 * A plain HTML table in a scrollable, keyboard-reachable region named by its (visually hidden) caption: column
 * headers from `columns`, the rows as children, and `empty` as one full-width row when there is nothing to show.
 */
export function DataTable(props: {
  id: string;
  caption: string;
  columns: string[];
  empty?: string;
  isEmpty?: boolean;
  children: ReactNode;
}) {
  return (
    <div className="table-wrap" role="region" aria-labelledby={props.id} tabIndex={0}>
      <table className="table">
        <caption id={props.id} className="visually-hidden">
          {props.caption}
        </caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.isEmpty && props.empty !== undefined && (
            <tr>
              <td colSpan={props.columns.length}>{props.empty}</td>
            </tr>
          )}
          {props.children}
        </tbody>
      </table>
    </div>
  );
}
