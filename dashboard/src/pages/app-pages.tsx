import type { VNode } from 'preact';
import type { Route } from '../router';
import { AttemptDetail } from './AttemptDetail';
import { EndpointDetail } from './EndpointDetail';
import { Endpoints } from './Endpoints';
import { MessageDetail } from './MessageDetail';
import { Messages } from './Messages';

/** The page of an application's endpoints and messages that `route` names (the dashboard's and the portal's), or null. */
export function appPage(route: Route): VNode | null {
  switch (route.page) {
    case 'endpoints':
      return <Endpoints key={route.appId} appId={route.appId} />;
    case 'messages':
      return <Messages key={route.appId} appId={route.appId} />;
    case 'message':
      return <MessageDetail key={route.msgId} appId={route.appId} msgId={route.msgId} />;
    case 'endpoint':
      return <EndpointDetail key={route.endpointId} appId={route.appId} endpointId={route.endpointId} />;
    case 'attempt':
      return <AttemptDetail key={route.attemptId} appId={route.appId} msgId={route.msgId} attemptId={route.attemptId} />;
    default:
      return null;
  }
}
