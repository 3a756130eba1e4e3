import type { ConsentDecision } from "../api/queries";
import { when } from "../format";

const PURPOSES = ["PERSONALIZATION", "MARKETING", "ANALYTICS", "SALE_SHARING"];

export function Consent({ decisions }: { decisions: ConsentDecision[] }) {
  const by = new Map(decisions.map((d) => [d.purpose, d]));
  return (
    <table className="consent">
      <caption>Consent (no decision: not consented)</caption>
      <thead><tr><th scope="col">Purpose</th><th scope="col">Decision</th><th scope="col">Set by</th></tr></thead>
      <tbody>
        {PURPOSES.map((purpose) => {
          const decision = by.get(purpose);
          return (
            <tr key={purpose}>
              <th scope="row">{purpose.replace("_", " ").toLowerCase()}</th>
              <td>{decision ? (decision.granted ? "granted" : "withdrawn") : <span className="missing">none</span>}</td>
              <td>{decision ? `${decision.source}, ${when(decision.at)}` : ""}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
