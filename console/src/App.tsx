import { useEffect, useRef, useState, type MouseEvent, type ReactNode } from "react";
import { request, UNAUTHENTICATED } from "./api/client";
import { VIEWER, type Viewer } from "./api/queries";
import { ErrorNote, Loading } from "./components/Notes";
import { RouteLink } from "./components/RouteLink";
import { useAsync } from "./components/useAsync";
import { AuditPage } from "./pages/AuditPage";
import { ExplainPage } from "./pages/ExplainPage";
import { LoginPage } from "./pages/LoginPage";
import { ProfilePage } from "./pages/ProfilePage";
import { ReviewPage } from "./pages/ReviewPage";
import { SearchPage } from "./pages/SearchPage";
import { currentRoute, NAVIGATED, type Route } from "./routing";
import { apiKey, setApiKey } from "./session";
import { can, ViewerContext } from "./viewer";

const TITLES: Record<Route["page"], string> = {
  search: "Search", profile: "Profile", explain: "Explain", review: "Review queue", audit: "Audit log", login: "Sign in",
};

export function App() {
  const [route, setRoute] = useState<Route>(() => currentRoute());
  const [signIns, setSignIns] = useState(0);
  useEffect(() => {
    const follow = () => setRoute(currentRoute());
    for (const event of ["hashchange", "popstate", NAVIGATED]) window.addEventListener(event, follow);
    return () => { for (const event of ["hashchange", "popstate", NAVIGATED]) window.removeEventListener(event, follow); };
  }, []);
  // Who the key is, asked again at each sign-in or out; nothing of the last key's stays on
  // screen meanwhile.
  const viewer = useAsync(() => request<{ viewer: Viewer }>(VIEWER).then((d) => d.viewer), [signIns], { keep: false });
  useEffect(() => {
    document.title = `${TITLES[route.page]} · Identity console`;
  }, [route]);
  // A key revoked (or a token expired) while the console is open: ask who we are again,
  // which shows the sign-in page with the server's reason.
  const signedIn = viewer.data !== null;
  useEffect(() => {
    if (!signedIn) return;
    const recheck = () => setSignIns((n) => n + 1);
    window.addEventListener(UNAUTHENTICATED, recheck);
    return () => window.removeEventListener(UNAUTHENTICATED, recheck);
  }, [signedIn]);

  function signIn(key: string | null) {
    setApiKey(key);
    setSignIns((n) => n + 1);
  }

  if (viewer.loading) return <Loading what="the console" />;
  const refused = viewer.error?.unauthenticated ?? false;
  if (viewer.error && !refused) {
    return (
      <main className="login" id="main">
        <h1>Identity console</h1>
        <ErrorNote error={viewer.error} what="reaching the service" />
        <button type="button" className="primary" onClick={() => setSignIns((n) => n + 1)}>Try again</button>
      </main>
    );
  }
  if (refused || !viewer.data || route.page === "login") {
    return (
      <LoginPage refusal={viewer.error} onSignIn={(key) => {
        signIn(key);
        if (route.page === "login") location.hash = "#/";
      }} />
    );
  }
  return (
    <ViewerContext.Provider value={viewer.data}>
      <Header viewer={viewer.data} route={route} onSignOut={() => signIn(null)} />
      <Main route={route} key={signIns}>
        <Page route={route} />
      </Main>
    </ViewerContext.Provider>
  );
}

/** The page's content; on each navigation the focus moves to its first heading, so a screen
 * reader announces where the steward is. */
function Main({ route, children }: { route: Route; children: ReactNode }) {
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // The page may still be loading: wait for its heading (a few seconds at most), unless
    // the steward has moved the focus meanwhile.
    const since = Date.now();
    const timer = window.setInterval(() => {
      const heading = main.current?.querySelector<HTMLElement>("h1");
      const untouched = document.activeElement === document.body || document.activeElement === main.current
        || !document.activeElement?.isConnected;
      if (heading && untouched) {
        heading.tabIndex = -1;
        heading.focus();
      }
      if (heading || !untouched || Date.now() - since > 3000) window.clearInterval(timer);
    }, 50);
    return () => window.clearInterval(timer);
  }, [route]);
  return <main id="main" tabIndex={-1} ref={main}>{children}</main>;
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "profile":
      return <ProfilePage key={route.id} id={route.id} />;
    case "explain":
      return <ExplainPage key={`${route.a}|${route.b}`} a={route.a} b={route.b} />;
    case "review":
      return <ReviewPage />;
    case "audit":
      return <AuditPage key={route.profileId} profileId={route.profileId} />;
    case "search":
      return <SearchPage key={`${route.query}|${route.by}|${route.kind}`} route={route} />;
    case "login":
      return null;
  }
}

function skipToContent(event: MouseEvent<HTMLAnchorElement>) {
  event.preventDefault(); // #main is not a route: focus the content instead of going there
  document.getElementById("main")?.focus();
}

function Header({ viewer, route, onSignOut }: { viewer: Viewer; route: Route; onSignOut: () => void }) {
  const steward = can(viewer, "steward");
  const links: [string, Route, boolean][] = [
    ["Search", { page: "search", query: "", by: "ANY", kind: "" }, route.page === "search" || route.page === "profile"],
    ["Explain", { page: "explain", a: "", b: "" }, route.page === "explain"],
  ];
  if (steward) {
    links.push(["Review queue", { page: "review" }, route.page === "review"]);
    links.push(["Audit log", { page: "audit", profileId: "" }, route.page === "audit"]);
  }
  return (
    <header className="top">
      <a className="skip" href="#main" onClick={skipToContent}>Skip to content</a>
      <span className="brand">Identity console</span>
      <nav aria-label="Pages">
        {links.map(([text, to, current]) => (
          <RouteLink key={text} route={to} current={current}>{text}</RouteLink>
        ))}
        <a href="/graphql">GraphiQL</a>
      </nav>
      <div className="who">
        {viewer.development && <span className="badge warn" title="Authentication is off on this server">development mode</span>}
        {!can(viewer, "profile:read_pii") && (
          <span className="badge" title="This key lacks profile:read_pii: emails, phones, names and dates are masked">masked view</span>
        )}
        <span className="subject" title={`Scopes: ${viewer.scopes.join(", ") || "none"}`}>{viewer.subject}</span>
        {apiKey() && <button type="button" onClick={onSignOut}>Sign out</button>}
      </div>
    </header>
  );
}
