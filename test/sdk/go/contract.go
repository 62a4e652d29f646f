// The SDK contract scenario for the official Go svix SDK, run by test/sdk/go.test.ts: a few calls, among them
// resend, whose POST has no body (the SDK sends an empty body reader). Same protocol as python/contract.py:
// HOOKD_URL, HOOKD_TOKEN, RECEIVER_URL and RECEIVER_CONTROL_URL in, one JSON report line out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

type received struct {
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type scenario struct {
	Name  string `json:"name"`
	Ok    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

var (
	ctx         = context.Background()
	receiverURL = os.Getenv("RECEIVER_URL")
	controlURL  = os.Getenv("RECEIVER_CONTROL_URL")
)

func requestsAt(path string) ([]received, error) {
	response, err := http.Get(controlURL + "/requests")
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	var all []received
	if err := json.NewDecoder(response.Body).Decode(&all); err != nil {
		return nil, err
	}
	var at []received
	for _, r := range all {
		if r.Path == path {
			at = append(at, r)
		}
	}
	return at, nil
}

// waitFor polls the receiver until `path` got `count` requests.
func waitFor(path string, count int) ([]received, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		at, err := requestsAt(path)
		if err != nil || len(at) >= count {
			return at, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timed out waiting for %d requests at %s (got %d)", count, path, len(at))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verify checks a delivery with the SDK's own Webhook class and returns its payload.
func verify(secret string, r received) (map[string]any, error) {
	webhook, err := svix.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	headers := http.Header{}
	for name, value := range r.Headers {
		headers.Set(name, value)
	}
	if err := webhook.Verify([]byte(r.Body), headers); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var payload map[string]any
	return payload, json.Unmarshal([]byte(r.Body), &payload)
}

func check(actual, expected any, what string) error {
	if !reflect.DeepEqual(actual, expected) {
		return fmt.Errorf("%s: expected %#v, got %#v", what, expected, actual)
	}
	return nil
}

func firstError(errs ...error) error {
	return errors.Join(errs...)
}

// resend: a message is delivered, a repeated eventId is refused with 409, and resend delivers it again as a
// manual attempt that verifies like the first.
func resend(client *svix.Svix) error {
	uid := "go-app"
	app, err := client.Application.Create(ctx, models.ApplicationIn{Name: "Go", Uid: &uid}, nil)
	if err != nil {
		return fmt.Errorf("application.Create: %w", err)
	}
	if err := firstError(check(strings.HasPrefix(app.Id, "app_"), true, "app id"), check(app.Uid, &uid, "app uid")); err != nil {
		return err
	}
	endpoint, err := client.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: receiverURL + "/go-hook"}, nil)
	if err != nil {
		return fmt.Errorf("endpoint.Create: %w", err)
	}
	secret, err := client.Endpoint.GetSecret(ctx, app.Id, endpoint.Id)
	if err != nil {
		return fmt.Errorf("endpoint.GetSecret: %w", err)
	}
	eventId := "go-1"
	msg, err := client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "go.test", EventId: &eventId, Payload: map[string]any{"n": 1.0}}, nil)
	if err != nil {
		return fmt.Errorf("message.Create: %w", err)
	}
	if err := firstError(check(strings.HasPrefix(msg.Id, "msg_"), true, "message id"), check(msg.EventId, &eventId, "eventId")); err != nil {
		return err
	}
	_, err = client.Message.Create(ctx, app.Id, models.MessageIn{EventType: "go.test", EventId: &eventId, Payload: map[string]any{}}, nil)
	var apiError *svix.Error
	if !errors.As(err, &apiError) || apiError.Status() != 409 {
		return fmt.Errorf("a repeated eventId: expected HTTP 409, got %v", err)
	}

	first, err := waitFor("/go-hook", 1)
	if err != nil {
		return err
	}
	payload, err := verify(secret.Key, first[0])
	if err := firstError(err, check(payload, map[string]any{"n": 1.0}, "delivered payload"), check(first[0].Headers["webhook-id"], msg.Id, "webhook-id")); err != nil {
		return err
	}

	// Resend once the first attempt is recorded: a resend racing it is js-v1's concern, this one is about the request.
	if _, err := waitForAttempts(client, app.Id, msg.Id, endpoint.Id, 1); err != nil {
		return err
	}
	resent, err := client.MessageAttempt.Resend(ctx, app.Id, msg.Id, endpoint.Id, nil)
	if err != nil {
		return fmt.Errorf("messageAttempt.Resend: %w (%s)", err, body(err))
	}
	if err := check(resent != nil, true, "resend answers an EmptyResponse"); err != nil {
		return err
	}
	both, err := waitFor("/go-hook", 2)
	if err != nil {
		return err
	}
	payload, err = verify(secret.Key, both[1])
	if err := firstError(err, check(payload, map[string]any{"n": 1.0}, "resent payload"), check(both[1].Headers["webhook-id"], msg.Id, "resent webhook-id")); err != nil {
		return err
	}
	attempts, err := waitForAttempts(client, app.Id, msg.Id, endpoint.Id, 2)
	if err != nil {
		return err
	}
	return firstError(
		check(attempts[0].TriggerType, models.MESSAGEATTEMPTTRIGGERTYPE_MANUAL, "the resend's attempt is manual"),
		check(attempts[0].ResponseStatusCode, int16(200), "the resend's status code"),
		check(attempts[1].TriggerType, models.MESSAGEATTEMPTTRIGGERTYPE_SCHEDULED, "the first attempt is scheduled"),
	)
}

// waitForAttempts polls the message's attempts at the endpoint (newest first) until there are `count`.
func waitForAttempts(client *svix.Svix, appId, msgId, endpointId string, count int) ([]models.MessageAttemptOut, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		attempts, err := client.MessageAttempt.ListByMsg(ctx, appId, msgId, &svix.MessageAttemptListByMsgOptions{EndpointId: &endpointId})
		if err != nil {
			return nil, fmt.Errorf("messageAttempt.ListByMsg: %w", err)
		}
		if len(attempts.Data) >= count {
			return attempts.Data, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("expected %d attempts, got %d", count, len(attempts.Data))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// body is what hookd answered to a failed call.
func body(err error) string {
	var apiError *svix.Error
	if errors.As(err, &apiError) {
		return string(apiError.Body())
	}
	return ""
}

func main() {
	server, err := url.Parse(os.Getenv("HOOKD_URL"))
	if err != nil {
		panic(err)
	}
	client, err := svix.New(os.Getenv("HOOKD_TOKEN"), &svix.SvixOptions{ServerUrl: server})
	if err != nil {
		panic(err)
	}
	result := scenario{Name: "resend", Ok: true}
	if err := resend(client); err != nil {
		result = scenario{Name: "resend", Ok: false, Error: err.Error()}
	}
	report, _ := json.Marshal(map[string]any{"sdk": svix.Version, "scenarios": []scenario{result}})
	fmt.Println(string(report))
}
