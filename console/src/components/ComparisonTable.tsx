import type { MatchScore } from "../api/queries";
import { percent, signed } from "../format";

interface Props {
  score: MatchScore;
  caption: string;
  linkThreshold?: number | null;
  reviewThreshold?: number | null;
}

/** A pair of records compared field by field under the match model: the values, the level
 * each field reached, its weight and bucket, the total against the thresholds. */
export function ComparisonTable({ score, caption, linkThreshold, reviewThreshold }: Props) {
  return (
    <table className="comparison">
      <caption>{caption}</caption>
      <thead>
        <tr><th scope="col">Field</th><th scope="col">Left</th><th scope="col">Right</th>
          <th scope="col">Level</th><th scope="col" className="number">Weight</th><th scope="col">Bucket</th></tr>
      </thead>
      <tbody>
        {score.fields.map((field) => (
          <tr key={field.field} className={`bucket-${field.bucket.toLowerCase()}`}>
            <th scope="row">{field.field}</th>
            <td>{field.left ?? <span className="missing">missing</span>}</td>
            <td>{field.right ?? <span className="missing">missing</span>}</td>
            <td>{field.level}</td>
            <td className="number">{signed(field.weight)}</td>
            <td><span className={`bucket bucket-${field.bucket.toLowerCase()}`}>{field.bucket.replace("_", " ").toLowerCase()}</span></td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          <td colSpan={3}>
            match probability <strong>{percent(score.probability)}</strong>, decision <strong>{score.decision.toLowerCase()}</strong>
            {linkThreshold != null && <> · links at ≥ {percent(linkThreshold)}</>}
            {reviewThreshold != null && <>, review at ≥ {percent(reviewThreshold)}</>}
            {score.vetoedBy && <> · <strong>vetoed</strong> by never-link rule {score.vetoedBy}</>}
          </td>
          <td className="number">{signed(score.weight)}</td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}
