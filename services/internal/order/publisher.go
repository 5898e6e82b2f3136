package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Exchange is the topic exchange order events are published to; Queue is
// the durable queue bound to "order.#" that keeps them for consumers.
const (
	Exchange = "shop.events"
	Queue    = "shop.order-events"
)

// AMQPConfig is where RabbitMQ is.
type AMQPConfig struct {
	Host, User, Password, VHost string
	Port                        int
}

// URL is the amqp:// URL for c.
func (c AMQPConfig) URL() string {
	u := amqp.URI{Scheme: "amqp", Host: c.Host, Port: c.Port, Username: c.User, Password: c.Password, Vhost: c.VHost}
	return u.String()
}

// ErrNotConnected means RabbitMQ is unreachable right now.
var ErrNotConnected = errors.New("not connected to RabbitMQ")

// Publisher keeps one connection and confirming channel to RabbitMQ,
// reconnecting with backoff whenever it drops.
type Publisher struct {
	Config AMQPConfig
	Log    *slog.Logger

	mu sync.Mutex
	ch *amqp.Channel
}

// Run connects and reconnects until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	delay := 250 * time.Millisecond
	for ctx.Err() == nil {
		conn, ch, err := p.connect()
		if err != nil {
			p.Log.Warn("rabbitmq connect failed; retrying", "err", err, "in", delay.String())
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(delay*2, 2*time.Second)
			continue
		}
		delay = 250 * time.Millisecond
		p.Log.Info("rabbitmq connected")
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
		p.mu.Lock()
		p.ch = ch
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case err := <-closed:
			p.Log.Warn("rabbitmq connection lost", "err", err)
		case err := <-chClosed:
			p.Log.Warn("rabbitmq channel closed", "err", err)
		}
		p.mu.Lock()
		p.ch = nil
		p.mu.Unlock()
		_ = conn.Close()
	}
}

func (p *Publisher) connect() (*amqp.Connection, *amqp.Channel, error) {
	conn, err := amqp.DialConfig(p.Config.URL(), amqp.Config{
		Heartbeat: 5 * time.Second,
		Dial: func(network, addr string) (net.Conn, error) {
			return net.DialTimeout(network, addr, 2*time.Second)
		},
		Properties: amqp.Table{"connection_name": "order-service"},
	})
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err == nil {
		err = ch.ExchangeDeclare(Exchange, amqp.ExchangeTopic, true, false, false, false, nil)
	}
	if err == nil {
		_, err = ch.QueueDeclare(Queue, true, false, false, false, nil)
	}
	if err == nil {
		err = ch.QueueBind(Queue, "order.#", Exchange, false, nil)
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("rabbitmq setup: %w", err)
	}
	return conn, ch, nil
}

// Ready is a readiness check: nil while connected.
func (p *Publisher) Ready(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil || p.ch.IsClosed() {
		return ErrNotConnected
	}
	return nil
}

// Message is one event to publish.
type Message struct {
	ID         string
	RoutingKey string
	Body       []byte
	Seq        int64
}

// Publish sends msgs as persistent messages and waits until RabbitMQ
// confirms every one of them (or ctx ends).
func (p *Publisher) Publish(ctx context.Context, msgs []Message) error {
	p.mu.Lock()
	ch := p.ch
	p.mu.Unlock()
	if ch == nil {
		return ErrNotConnected
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	for _, m := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, Exchange, m.RoutingKey, false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			MessageId:    m.ID,
			Type:         m.RoutingKey,
			Timestamp:    time.Now(),
			Headers:      amqp.Table{"outbox_seq": strconv.FormatInt(m.Seq, 10)},
			Body:         m.Body,
		})
		if err != nil {
			return err
		}
		confirms = append(confirms, dc)
	}
	for _, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("rabbitmq refused (nacked) a message")
		}
	}
	return nil
}
