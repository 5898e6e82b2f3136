// Command product is the product service: catalog, cached details, stock.
package main

import (
	"os"

	"shop/internal/app"
	"shop/internal/product"
)

func main() { os.Exit(app.Main("product", product.Build, app.Options{})) }
