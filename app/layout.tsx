import type { ReactNode } from 'react';

export const metadata = { title: 'Engram', description: 'Live memory debugger for Differentiable Neural Computers' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
