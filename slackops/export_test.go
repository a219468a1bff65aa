package slackops

import "time"

// SetNow replaces the clock the Client reads user group ages from.
func (c *Client) SetNow(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}
