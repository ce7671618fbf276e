// src/components/features/tokens/TokenPurchase.tsx
import { useQuery, useMutation } from "convex/react";
import { api } from "@/convex/_generated/api";
import { Id } from "@/convex/_generated/dataModel";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { useState } from "react";
interface TokenPurchaseProps {
tokenId: Id<"entities">;
}
export function TokenPurchase({ tokenId }: TokenPurchaseProps) {
const token = useQuery(api.tokens.get, { id: tokenId });
const balance = useQuery(api.tokens.getBalance, { tokenId });
const purchase = useMutation(api.tokens.purchase);
const [amount, setAmount] = useState(100);
const [error, setError] = useState<string | null>(null);
const [loading, setLoading] = useState(false);
// Loading state
if (token === undefined || balance === undefined) {
return (
<Card>
<CardHeader>
<Skeleton className="h-6 w-48" />
</CardHeader>
<CardContent>
<Skeleton className="h-24 w-full" />
</CardContent>
</Card>
);
}
// Error state
if (token === null) {
return (
<Card>
<CardContent className="py-6">
<Alert variant="destructive">
<AlertDescription>Token not found</AlertDescription>
</Alert>
</CardContent>
</Card>
);
}
const handlePurchase = async () => {
setLoading(true);
setError(null);
try {
await purchase({
tokenId,
amount,
usdAmount: amount * token.properties.priceUsd
});
} catch (err) {
setError(err.message);
} finally {
setLoading(false);
}
};
return (
<Card>
<CardHeader>
<CardTitle>Purchase {token.name}</CardTitle>
</CardHeader>
<CardContent className="space-y-4">
<div>
<p className="text-sm text-muted-foreground">Current Balance</p>
<p className="text-2xl font-bold">{balance?.amount || 0}</p>
</div>
<div>
<label className="text-sm font-medium">Amount</label>
<input
type="number"
value={amount}
onChange={(e) => setAmount(Number(e.target.value))}
className="w-full px-3 py-2 border rounded"
/>
</div>
<div>
<p className="text-sm text-muted-foreground">Total Cost</p>
<p className="text-xl font-bold">
${(amount * token.properties.priceUsd).toFixed(2)}
</p>
</div>
{error && (
<Alert variant="destructive">
<AlertDescription>{error}</AlertDescription>
</Alert>
)}
<Button
onClick={handlePurchase}
disabled={loading || amount <= 0}
className="w-full"
>
{loading ? "Processing..." : `Buy ${amount} Tokens`}
</Button>
</CardContent>
</Card>
);
}
