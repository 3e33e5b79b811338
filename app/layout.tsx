import type { ReactNode } from 'react';
import { DashboardRoot } from '../components/live/DashboardRoot';
import '../components/styles/dashboard.css';

export const metadata = { title: 'Engram', description: 'Live memory debugger for Differentiable Neural Computers' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <DashboardRoot>{children}</DashboardRoot>
      </body>
    </html>
  );
}
