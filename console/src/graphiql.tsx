import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";

const fetcher = createGraphiQLFetcher({ url: "/graphql" });
createRoot(document.getElementById("graphiql")!).render(<GraphiQL fetcher={fetcher} />);
