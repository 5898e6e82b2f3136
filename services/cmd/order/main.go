// Command order is the order service: orders, stock reservation, events.
package main

import (
	"os"

	"shop/internal/app"
	"shop/internal/order"
)

func main() { os.Exit(app.Main("order", order.Build, app.Options{})) }
