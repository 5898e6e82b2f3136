// Command gateway is the shop's single entry point behind the Ingress.
package main

import (
	"os"

	"shop/internal/app"
	"shop/internal/gateway"
)

func main() { os.Exit(app.Main("gateway", gateway.Build, gateway.Options(os.Getenv))) }
