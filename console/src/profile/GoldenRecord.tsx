import type { GoldenField } from "../api/queries";
import { when } from "../format";

/** The golden record; each value's provenance (source, time, event, support) shows on hover
 * and on keyboard focus. */
export function GoldenRecord({ fields }: { fields: GoldenField[] }) {
  if (fields.length === 0) return <p>No person traits were sent for this profile.</p>;
  return (
    <table className="golden">
      <caption>Golden record</caption>
      <tbody>
        {fields.map((field) => {
          const tip = `golden-${field.name}`;
          return (
            <tr key={field.name}>
              <th scope="row">{field.name.replace(/_/g, " ")}</th>
              <td>
                <span className="has-tip" tabIndex={0} aria-describedby={tip}>{field.value}</span>
                <span className="tip" role="tooltip" id={tip}>
                  from <strong>{field.source}</strong> at {when(field.observedAt)}, event <code>{field.eventId}</code>
                  {field.support > 1 ? `; ${field.support} observations agree` : "; seen once"}
                </span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
