package it

import (
	"os"
	"testing"

	"shop/internal/app"
	"shop/internal/gateway"
	"shop/internal/order"
	"shop/internal/product"
	"shop/internal/user"
)

// childEnv names the service a re-executed test binary runs instead of tests.
const childEnv = "SHOP_IT_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "gateway":
		os.Exit(app.Main("gateway", gateway.Build, gateway.Options(os.Getenv)))
	case "user":
		os.Exit(app.Main("user", user.Build, app.Options{}))
	case "product":
		os.Exit(app.Main("product", product.Build, app.Options{}))
	case "order":
		os.Exit(app.Main("order", order.Build, app.Options{}))
	default:
		os.Stderr.WriteString("unknown " + childEnv + "\n")
		os.Exit(2)
	}
}
