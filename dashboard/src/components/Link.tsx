import type { ComponentChildren } from 'preact';
import { href, navigate, type Route } from '../router';

/** An in-app link: a real <a href> (open in new tab works) that navigates without a reload. */
export function Link(props: { to: Route; children: ComponentChildren; class?: string; testId?: string }) {
  const url = href(props.to);
  return (
    <a
      href={url}
      class={props.class}
      data-testid={props.testId}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(url);
      }}
    >
      {props.children}
    </a>
  );
}

/** A tab of a page's navigation: a link, marked when its page (or one below it) is shown. */
export function Tab(props: { to: Route; label: string; active: boolean }) {
  return (
    <Link to={props.to} class={props.active ? 'tab active' : 'tab'} testId={`nav-${props.to.page}`}>
      {props.label}
    </Link>
  );
}
